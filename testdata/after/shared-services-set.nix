{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  meta.name = "lab";

  inventory.machines = {
    hub = { tags = [ "server" ]; };
    laptop = { };
  };

  inventory.services = {
    # Our own module, not ported to a clan.service yet: it stays here, and the
    # other instances move out of this set.
    printing.office.roles.default.machines = [ "hub" ];

    printing.office.config.queue = "a4"; # stays with its instance
  };
  inventory.instances = {
    # SSH host certificates for the whole lab.
    sshd-lab.module.name = "sshd";
    sshd-lab.roles.server.tags = [ "all" ];
    sshd-lab.roles.client.tags = [ "all" ];

    zerotier-lab = {
      module.name = "zerotier";
      roles.controller.machines = { hub = { }; };
      roles.peer.tags = [ "all" ];
    };

    admin-default.module.name = "admin";
    admin-default.roles.default.tags = [ "server" ]; # keys below
    admin-default.roles.default.settings.allowedKeys.alice = "ssh-ed25519 AAAA alice";
  };
}
