{ lib, config, ... }:
{
  clan.inventory.instances = lib.mkIf config.enableBackups {
    borgbackup-main.module.name = "borgbackup";
    borgbackup-main.roles.server.machines = { nas = { }; };
  };
  imports = [
    {
      clan.inventory.services.mycelium = lib.genAttrs [ "a" "b" ] (_: {
        roles.peer.tags = [ "all" ];
      });
    }
  ];
}
