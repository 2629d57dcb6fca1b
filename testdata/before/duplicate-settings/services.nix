{ lib, ... }:
lib.mkMerge [
  {
    inventory.instances.borgbackup-home.roles.client.settings.exclude = [ "*.iso" ];
    # A second definition of sshd-default's server settings (in another file).
    inventory.instances.sshd-default.roles.server.settings.certificate.searchDomains = [ "lan" ];
  }
  {
    inventory.instances.borgbackup-home = {
      module.name = "borgbackup";
      roles.client.machines.web = { };
      # A second definition in another mkMerge element.
      roles.client.settings.startAt = "daily";
    };
  }
]
