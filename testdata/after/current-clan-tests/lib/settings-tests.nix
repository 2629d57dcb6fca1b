# Each harness call is a clan of its own: the same instance, the same
# settings, in several of them.
{ createTestClan, callInventoryAdapter, lib, ... }:
{
  test_role_settings = createTestClan {
    inventory = {
      machines.jon = { };
      instances.foo = {
        module.name = "sshd";
        roles.server.settings.hostKeys.rsa.enable = true;
        roles.server.machines.jon.settings.generateRootKey = true;
      };
    };
  };
  test_machine_settings = callInventoryAdapter {
    inventory = {
      machines.jon = { };
      instances.foo = {
        module.name = "sshd";
        roles.server.machines.jon.settings.generateRootKey = lib.mkForce false;
      };
    };
  };
}
