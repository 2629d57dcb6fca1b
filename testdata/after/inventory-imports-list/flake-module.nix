{ inputs, ... }:
{
  clan = {
    meta.name = "modular";
    inventory.imports = [
      ./inventory-services.nix
    ];
  };
}
