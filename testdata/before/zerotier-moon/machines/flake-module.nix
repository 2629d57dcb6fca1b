{ ... }:
{
  clan.inventory.machines = {
    web01 = { };
    jitsi01 = { };
    build01 = { };
  };
  clan.inventory.services.zerotier.claninfra = {
    roles.controller.machines = [ "web01" ];
    roles.controller.extraModules = [ "modules/zerotier.nix" ];
    roles.moon.machines = [
      "jitsi01"
    ];
    roles.peer.machines = [ "build01" "web01" ];
    config.networkIps = [ "fd00::1" ];
    machines.jitsi01.config = {
      moon.stableEndpoints = [
        "201.0.113.7"
        "2001:db8::7"
      ];
    };
  };
}
