{
  inventory.machines = {
    web01 = { };
    web02 = { };
    laptop = { };
  };
  inventory.instances.sshd-default = {
    module.name = "sshd";
    roles.server.machines = { web01 = { }; web02 = { }; };
    roles.client = {
      machines = { web01 = { }; laptop = { }; };
      # Trust host certificates for the clan's domain.
      settings = {
        # The clan's domain.
        certificate.searchDomains = [ "clan.lol" ];
      };
    };
    roles.server.settings.hostKeys.rsa.enable = true;
    roles.server.machines.web01.settings.certificate.searchDomains = [ "clan.lol" ];
  };
  inventory.instances.zerotier-office = {
    module.name = "zerotier";
    roles.controller.machines = { web01 = { }; };
    roles.peer.tags = [ "all" ];
    # Accept an external machine too.
    roles.controller.settings.allowedIps = [ "fd00::1" ];
  };
}
