"""The IT Glue sandbox: a local simulator of the IT Glue API for tests and demos."""
