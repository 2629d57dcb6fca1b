{
  inventory.machines.relay = { };
  inventory.machines.hub = { };
  inventory.instances.zerotier-mesh = {
    module.name = "zerotier";
    roles.controller.machines = { hub = { }; };
    roles.moon.machines = { relay = { }; };
    # Per-machine settings, written as nested sets.
    roles.moon.machines.relay.settings.stableEndpoints = [ "198.51.100.7" ];
  };
  inventory.instances.importer-base = {
    module.name = "importer";
    roles.default.tags = [ "all" ];
    roles.default.extraModules = [ ./modules/base.nix ./modules/extra.nix ];
  };
}
