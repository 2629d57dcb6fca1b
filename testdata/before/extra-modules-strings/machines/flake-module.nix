{ ... }:
{
  clan.inventory.services = {
    importer.base = {
      roles.default.tags = [ "all" ];
      roles.default.extraModules = [ "modules/base.nix" ];
    };
    borgbackup.home = {
      roles.client.machines = [ "laptop" ];
      roles.server.machines = [ "nas" ];
      # 2024 name of extraModules
      roles.server.imports = [ "modules/borg-server.nix" ];
    };
  };
}
