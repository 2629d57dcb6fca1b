{ ... }:
{
  clan.inventory.instances = {
    importer-base = {
      module = { name = "importer"; input = "clan"; };
      roles.default.tags = [ "all" ];
      roles.default.extraModules = [ ../modules/base.nix ];
    };
    borgbackup-home = {
      module = { name = "borgbackup"; input = "clan"; };
      roles.client.machines = { laptop = { }; };
      roles.server.machines = { nas = { }; };
      # 2024 name of extraModules
      roles.server.extraModules = [ ../modules/borg-server.nix ];
    };
  };
}
