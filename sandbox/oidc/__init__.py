"""A small offline OpenID Connect provider standing in for Google (sign-in to the dashboard)."""
