{
  # The clan's machines live in machines/ and are not listed here, so which
  # machines carry a tag is not known statically.
  inventory.instances.zerotier-office = {
    module.name = "zerotier";
    roles.controller.machines = { hub = { }; };
    roles.moon.machines = { relay = { }; };
    roles.peer.tags = [ "all" ];
    # relay may be a peer too (tag `all`), but only the moon role declares
    # `moon`: the settings go to the moon role either way.
    roles.moon.machines.relay.settings = {
      stableEndpoints = [ "198.51.100.7" ];
    };
  };
  inventory.services.sshd.office = {
    roles.server.tags = [ "servers" ];
    roles.client.machines = [ "laptop" ];
    # laptop may be a server too (tag `servers`), and both roles declare
    # `certificate`: whether the server role gets it is not known, so the
    # instance is left.
    machines.laptop.config.certificate.searchDomains = [ "office.lan" ];
  };
}
