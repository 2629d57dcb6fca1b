{
  inventory.services.syncthing.family = {
    meta.name = "Family photos";
    meta.description = "Sync the photo library";
    enabled = false;
    roles.introducer.machines = [ "nas" ];
    roles.peer.machines = [ "laptop" "phone" ];
    config.folders.photos.path = "/srv/photos";
  };
  inventory.services.garage.default = {
    enabled = true;
    roles.default.machines = [ "storage" ];
  };
}
