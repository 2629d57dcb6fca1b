{
  meta.name = "split-across-files";
  inventory.machines = {
    server = { };
    laptop = { };
  };
  # Migrated by hand already.
  inventory.instances.sshd-default = {
    module.name = "sshd";
    roles.server.machines.server = { };
  };
}
