{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  meta.name = "fleet";

  inventory.machines = {
    gateway = { tags = [ "server" ]; };
    nas = { tags = [ "server" "backup" ]; };
    laptop = { machineClass = "nixos"; };
  };
  inventory.tags.workstations = [ "laptop" ];

  inventory.services = {
    iwd.home = {
      roles.default.machines = [ "laptop" ];
      config.networks.home = {
        ssid = "Home";
        AutoConnect = true;
      };
    };
    machine-id.default.roles.default.tags = [ "all" ];
    postgresql.default.roles.default.machines = [ "nas" ];
  };
  inventory.instances = {
      borgbackup-nas = {
        module.name = "borgbackup";
        roles.server.machines = { nas = { }; };
        roles.client.tags = [ "workstations" ];
        roles.client.settings.exclude = [ "*.iso" ];
      };
      borgbackup-offsite = {
        module.name = "borgbackup";
        roles.server.machines = { gateway = { }; };
        roles.client.machines = { nas = { }; };
      };
    sshd-default = {
      module.name = "sshd";
      roles.server.tags = [ "all" ];
      roles.client.tags = [ "all" ];
      roles.server.machines.gateway.settings.hostKeys.rsa.enable = true;
    };
  };
}
