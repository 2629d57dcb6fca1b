{
  inventory.machines.web = { };
  inventory.instances.importer-base = {
    module.name = "importer";
    roles.default.tags = [ "all" ];
    # Strings are relative to the clan directory.
    roles.default.extraModules = [ ../modules/base.nix ./hardening.nix ];
  };
}
