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
  inventory.services.sshd.lan = {
    roles.server.machines = [ "gateway" ];
    roles.client.machines = [ "laptop" "desktop" ];
    roles.client.config.hostKeys.rsa.enable = true;
    machines.laptop = {
      # The laptop also trusts the office's host certificates.
      config.certificate.searchDomains = [ "office.example" ];
      config.hostKeys.rsa.enable = true;
    };
  };
}
