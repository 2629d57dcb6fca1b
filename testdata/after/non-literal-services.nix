{ lib, config, ... }:
{
  clan.inventory.services = lib.mkIf config.enableBackups {
    borgbackup.main.roles.server.machines = [ "nas" ];
  };
  imports = [
    {
      clan.inventory.services.mycelium = lib.genAttrs [ "a" "b" ] (_: {
        roles.peer.tags = [ "all" ];
      });
    }
  ];
}
