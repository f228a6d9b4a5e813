"""Components of the on-prem LLM platform. Importing this package registers no resource."""
