{
  inventory.machines = {
    web = { };
    laptop = { };
  };
  # Hand-written instances live in their own file.
  inventory.imports = [ { instances = import ./instances.nix; } ];

  inventory.instances.sshd-default = {
    module = { name = "sshd"; input = "clan-core"; };
    # A role written as one body, next to instance-wide config.
    roles.server = {
      machines = { web = { }; };
      settings = {
        hostKeys.rsa.enable = true;
      };
    };
    roles.client.machines = { laptop = { }; };
    roles.client.settings.certificate.searchDomains = [ "lan" ];
    roles.server.settings.certificate.searchDomains = [ "lan" ];
  };

  inventory.instances.borgbackup-home = {
    module = { name = "borgbackup"; input = "clan-core"; };
    roles.server.machines = { web = { }; };
    # Both names of the role's modules (`imports` is the 2024 one).
    roles.server.extraModules = [ ./modules/borg-server.nix ./modules/borg-tuning.nix ];
    roles.client.machines = { laptop = { }; };
  };
}
