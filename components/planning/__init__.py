"""Pure planning: sizing, capacity, cost, DR figures, policy exceptions, monitoring content. No Pulumi here."""
