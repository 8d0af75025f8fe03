"""IT Glue: the HTTP client and the local sandbox that imitates the API."""
