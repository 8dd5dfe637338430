"""The OAuth 2 server apps sign in through: registered apps, one-time codes, access tokens."""
