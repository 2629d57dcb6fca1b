{
  meta.name = "services-import";
  inventory.machines.router = { };
  inventory.services = import ./legacy-services.nix;
}
