{ self, inputs, ... }:
{
  clan = {
    meta.name = "infra";
    specialArgs = { inherit self inputs; };

    inventory.machines = {
      web01.tags = [ "web" ];
      jitsi01.tags = [ "web" ];
      build01 = { };
    };

    inventory.instances = {
      zerotier-claninfra = {
        module.name = "zerotier";
        roles.controller.machines = { web01 = { }; };
        roles.controller.extraModules = [ "modules/zerotier.nix" ];
        roles.moon.machines = {
          jitsi01 = { };
          web01 = { };
        };
        roles.moon.machines.jitsi01.settings = {
          stableEndpoints = [
            "201.0.113.7"
            "2001:db8::7"
          ];
        };
        roles.peer.tags = [ "all" ];
      };

      # CA for host certificates
      sshd-clan = {
        module.name = "sshd";
        roles.server.tags = [ "all" ];
        roles.client.tags = [ "all" ];
        roles.client.settings.certificate.searchDomains = [ "clan.lol" ];
        roles.server.settings.certificate.searchDomains = [ "clan.lol" ];
      };
    };
  };
}
