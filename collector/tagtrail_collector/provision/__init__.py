"""Deployment: certificates, the broker's accounts and ACLs, gateway credentials and configs."""
