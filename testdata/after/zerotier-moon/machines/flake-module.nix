{ ... }:
{
  clan.inventory.machines = {
    web01 = { };
    jitsi01 = { };
    build01 = { };
  };
  clan.inventory.instances.zerotier-claninfra = {
    module = { name = "zerotier"; input = "clan-core"; };
    roles.controller.machines = { web01 = { }; };
    roles.controller.extraModules = [ ../modules/zerotier.nix ];
    roles.moon.machines = {
      jitsi01 = { };
    };
    roles.peer.machines = { build01 = { }; web01 = { }; };
    roles.controller.settings.allowedIps = [ "fd00::1" ];
    roles.moon.machines.jitsi01.settings = {
      stableEndpoints = [
        "201.0.113.7"
        "2001:db8::7"
      ];
    };
  };
}
