"""Console scripts: vdesk-manage, vdesk-sandbox."""
