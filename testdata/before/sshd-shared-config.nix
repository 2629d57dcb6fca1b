{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory.machines = {
    web01 = { };
    laptop = { };
  };
  inventory.services = {
    sshd.clan = {
      roles.server.machines = [ "web01" ];
      roles.client.machines = [ "web01" "laptop" ];
      # Trust host certificates for these domains.
      config.certificate.searchDomains = [ "clan.lol" ];
      roles.server.config.hostKeys.rsa.enable = true;
    };
  };
}
