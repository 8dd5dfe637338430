"""The Mastodon-compatible client API: another front end over the existing services."""
