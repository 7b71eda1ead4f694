"""Single sign-on for agents and supervisors with OpenID Connect (docs/integrations.md)."""
