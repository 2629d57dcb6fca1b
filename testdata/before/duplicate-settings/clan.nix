{ lib, ... }:
{
  inventory.machines.web = { };
  inventory.instances.sshd-default = {
    module.name = "sshd";
    roles.server.machines.web = { };
    roles.server.settings.hostKeys.rsa.enable = true;
  };
  # One attribute set: these two bindings are one definition.
  inventory.instances.sshd-default.roles.server.settings.generateRootKey = true;
}
