{
  inventory.machines = {
    web = { };
    laptop = { };
  };
  # Hand-written instances live in their own file.
  inventory.instances = import ./instances.nix;

  inventory.services.sshd.default = {
    # A role written as one body, next to instance-wide config.
    roles.server = {
      machines = [ "web" ];
      config = {
        hostKeys.rsa.enable = true;
      };
    };
    roles.client.machines = [ "laptop" ];
    config.certificate.searchDomains = [ "lan" ];
  };

  inventory.services.borgbackup.home = {
    roles.server.machines = [ "web" ];
    # Both names of the role's modules (`imports` is the 2024 one).
    roles.server.imports = [ ./modules/borg-server.nix ];
    roles.server.extraModules = [ ./modules/borg-tuning.nix ];
    roles.client.machines = [ "laptop" ];
  };
}
