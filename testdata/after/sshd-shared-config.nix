{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory.machines = {
    web01 = { };
    laptop = { };
  };
  inventory.instances = {
    sshd-clan = {
      module.name = "sshd";
      roles.server.machines = { web01 = { }; };
      roles.client.machines = { web01 = { }; laptop = { }; };
      # Trust host certificates for these domains.
      roles.client.settings.certificate.searchDomains = [ "clan.lol" ];
      roles.server.settings.certificate.searchDomains = [ "clan.lol" ];
      roles.server.settings.hostKeys.rsa.enable = true;
    };
  };
}
