{ ... }:
let
  desktop = "desktop";
in
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
    # Computed strings cannot become paths, but they resolve against the
    # clan directory in the new format too: kept as written.
    importer-generated = {
      module = { name = "importer"; input = "clan"; };
      roles.default.tags = [ "all" ];
      roles.default.extraModules = map (m: "modules/${m}.nix") [
        "ssh"
        "nix"
      ];
    };
    importer-desktop = {
      module = { name = "importer"; input = "clan"; };
      roles.default.machines = { laptop = { }; };
      roles.default.extraModules = [
        "modules/${desktop}.nix"
        ./local.nix
      ];
    };
  };
}
