"""spillguard.deploy: export, runtimes, the scoring service, cluster scoring."""
