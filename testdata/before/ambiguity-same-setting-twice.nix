{
  inventory.services.borgbackup.home = {
    roles.client.machines = [ "laptop" ];
    roles.server.machines = [ "nas" ];
    roles.client.config.exclude = [ "*.iso" ];
    # Legacy concatenated both lists; the new settings take one definition.
    config.exclude = [ "*.tmp" ];
  };
}
