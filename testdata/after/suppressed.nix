{
  # clan-migrate: ignore[CM001] kept until the fleet is on 26.05
  inventory.services.state-version.default.roles.default.tags = [ "all" ];

  # clan-migrate: ignore[CM001] nothing legacy below
  inventory.instances.sshd-default.roles.server.tags = [ "all" ];

  # clan-migrate: ignore[CM042] typo in the code
  inventory.services.machine-id.default.roles.default.tags = [ "all" ];

  # clan-migrate: ignore CM001
  inventory.instances.iwd-home.module.name = "wifi";
  inventory.instances.iwd-home.roles.default.machines = { laptop = { }; };
}
