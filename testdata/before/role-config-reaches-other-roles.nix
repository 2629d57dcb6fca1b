{
  inventory.machines = {
    web01 = { };
    web02 = { };
    laptop = { };
  };
  inventory.services.sshd.default = {
    roles.server.machines = [ "web01" "web02" ];
    roles.client = {
      machines = [ "web01" "laptop" ];
      # Trust host certificates for the clan's domain.
      config = {
        # The clan's domain.
        certificate.searchDomains = [ "clan.lol" ];
      };
    };
    roles.server.config.hostKeys.rsa.enable = true;
  };
  inventory.services.zerotier.office = {
    roles.controller.machines = [ "web01" ];
    roles.peer.tags = [ "all" ];
    # Accept an external machine too.
    config.networkIps = [ "fd00::1" ];
  };
}
