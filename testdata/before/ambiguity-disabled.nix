{
  inventory.services.garage.default = {
    enabled = false;
    roles.default.machines = [ "storage" ];
  };
}
