{
  inventory.services.borgbackup.home = {
    roles.client.machines = [ "laptop" ];
    roles.server.machines = [ "nas" ];
    config.compression = "zstd";
  };
}
