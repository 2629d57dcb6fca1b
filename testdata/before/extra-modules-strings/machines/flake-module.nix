{ ... }:
let
  desktop = "desktop";
in
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
    # Computed strings cannot become paths, but they resolve against the
    # clan directory in the new format too: kept as written.
    importer.generated = {
      roles.default.tags = [ "all" ];
      roles.default.extraModules = map (m: "modules/${m}.nix") [
        "ssh"
        "nix"
      ];
    };
    importer.desktop = {
      roles.default.machines = [ "laptop" ];
      roles.default.extraModules = [
        "modules/${desktop}.nix"
        ./local.nix
      ];
    };
  };
}
