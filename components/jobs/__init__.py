"""Code that runs inside the cluster (shipped to Jobs as ConfigMaps) and that auditors run too."""
