{
  inventory.services.syncthing.family = {
    meta.name = "Family photos";
    meta.description = "Sync the photo library";
    enabled = false;
    roles.introducer.machines = [ "nas" ];
    roles.peer.machines = [ "laptop" "phone" ];
    config.folders.photos.path = "/srv/photos";
  };
  inventory.instances.garage-default = {
    module.name = "garage";
    roles.default.machines = { storage = { }; };
  };
}
