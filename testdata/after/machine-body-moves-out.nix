# A per-machine body whose config all moves to the roles: the body goes
# (instances have no `machines`), and config that reached no machine of a
# role declaring it (`hostKeys` on clients that are no servers) is dropped
# with a note.
{
  inventory.machines = {
    gateway = { };
    laptop = { };
    desktop = { };
  };
  inventory.instances.sshd-lan = {
    module.name = "sshd";
    roles.server.machines = { gateway = { }; };
    roles.client.machines = { laptop = { }; desktop = { }; };
    # The laptop also trusts the office's host certificates.
    roles.client.machines.laptop.settings.certificate.searchDomains = [ "office.example" ];
  };
}
