# Evaluates the inventory a file defines with the real clan-core code and
# returns, per instance and role, the members and the settings each member
# receives, in a form that does not depend on the format:
#
#   { instances."<instance>" = {
#       module = "<clan.service module>";
#       roles."<role>" = {
#         members = [ <machine> ... ];
#         machines."<machine>" = { "<setting path>" = <value>; ... };
#       };
#     };
#     skipped."<instance>" = "<why it is not evaluated>"; }
#
# Legacy instances (`inventory.services`) go through the legacy builder of
# `clan-legacy/` (the last clan-core with `clanModules`): its tag resolution,
# and per member machine a module evaluation of the role files the builder
# imports with `clan.<service> = mkMerge [ config machines.<m>.config
# roles.<r>.config ... ]`, the one option set every role module of that machine
# reads. Each legacy instance is evaluated alone (legacy merges all instances of
# a service on a machine into one set). New instances (`inventory.instances`)
# go through `clan-head/`'s distributed-service machinery: the members of each
# role and `finalSettings.config` per machine.
#
# The settings compared are the leaves a user wrote (in either format), read
# from the real evaluated option values: defaults that changed between the two
# clan-core commits do not count, every user-written value does. A role
# receives a legacy key when the new service's role declares it (its real
# `finalSettings.options`), after the module table's renames. Lists of strings
# compare as sets. `extraModules` are left out (the model oracle compares
# them): their files need not exist here.
#
# Usage: nix-instantiate --eval --strict --json --read-write-mode \
#          tests/clan_core/evaluate.nix --arg trees /…/clan-core-trees \
#          --arg file /abs/x.nix --arg directory /abs/empty-dir [--arg asInventory true]
{ trees, file, directory, asInventory ? false, userTable ? null }:
let
  inherit (builtins)
    attrNames concatMap elem filter foldl' hasAttr head isAttrs isFunction isList
    isString listToAttrs map mapAttrs tail sort lessThan all;

  loaded = import ../oracle/load.nix { inherit file asInventory userTable; };
  inherit (loaded) table;
  inherit (loaded.helpers) deepMerge mergeAll unique;
  inventory = loaded.inventory;

  real = import ./trees.nix { inherit trees directory; };
  libHead = real.head.lib;
  headServices = real.head.services;
  legacyModules = real.legacy.modules;

  # --- values -------------------------------------------------------------

  normalize = v:
    if isList v then
      (let l = map normalize v; in if all isString l then sort lessThan l else l)
    else if isAttrs v then mapAttrs (_: normalize) v
    else v;

  # The leaves a user wrote: [ { path = [ … ]; value; } ]. Lists and empty sets
  # below the top are leaves.
  leaves = v:
    let go = prefix: x:
      if isAttrs x && x != { } then
        concatMap (k: go (prefix ++ [ k ]) x.${k}) (attrNames x)
      else [ { path = prefix; value = x; } ];
    in if isAttrs v && v != { } then go [ ] v else [ ];

  getPath = path: v:
    if path == [ ] then v
    else if isAttrs v && hasAttr (head path) v then getPath (tail path) v.${head path}
    else "<absent>";

  # The evaluated value at a user-written leaf (for a written empty set, whether
  # it is there). Only that leaf is forced: option defaults elsewhere may read
  # machine values this evaluation does not have. Errors are not caught: a
  # setting the real module rejects fails the comparison with clan-core's message.
  valueAt = written: path: evaluated:
    let v = getPath path evaluated; in
    if isAttrs written && v != "<absent>" then "<set>" else normalize v;

  dotted = builtins.concatStringsSep ".";
  splitDots = s: filter isString (builtins.split "[.]" s);

  # Applies the module table's renames (`*` matches one key) to a leaf path.
  renamePath = svc: path:
    let
      renames = (table.${svc} or { }).renames or { };
      match = pattern: p:
        if pattern == [ ] then { ok = true; bound = [ ]; rest = p; }
        else if p == [ ] then { ok = false; }
        else if head pattern == "*" || head pattern == head p then
          (let r = match (tail pattern) (tail p); in
           if r.ok then r // { bound = (if head pattern == "*" then [ (head p) ] else [ ]) ++ r.bound; } else r)
        else { ok = false; };
      fill = pattern: bound:
        if pattern == [ ] then [ ]
        else if head pattern == "*" then [ (head bound) ] ++ fill (tail pattern) (tail bound)
        else [ (head pattern) ] ++ fill (tail pattern) bound;
      step = p: old:
        let m = match (splitDots old) p; in
        if m.ok then fill (splitDots renames.${old}) m.bound ++ m.rest else p;
    in foldl' step path (attrNames renames);

  droppedPath = svc: path:
    let
      patterns = map splitDots ((table.${svc} or { }).dropped or [ ]);
      matches = pattern: p:
        if pattern == [ ] then true
        else if p == [ ] then false
        else (head pattern == "*" || head pattern == head p) && matches (tail pattern) (tail p);
    in builtins.any (pattern: matches pattern path) patterns;

  stripModules = x: removeAttrs x [ "extraModules" "imports" ];

  # Every machine a role or a tag table of the file names exists (a clan would
  # have it in machines/), in every evaluation of the file.
  # clan-migrate: ignore[CM002] the suite evaluates the legacy format
  namedMachines =
    let
      named = concatMap (inst: concatMap (role:
          let ms = role.machines or [ ]; in if isList ms then ms else attrNames ms)
        (builtins.attrValues (inst.roles or { })))
        (concatMap builtins.attrValues (builtins.attrValues (inventory.services or { }))
          ++ builtins.attrValues (inventory.instances or { }));
      tagged = concatMap (x: if isList x then x else [ ]) (builtins.attrValues (inventory.tags or { }));
    in listToAttrs (map (m: { name = m; value = { }; }) (unique (named ++ tagged)))
      // (inventory.machines or { });
  withMachines = inv: inv // { machines = namedMachines; };

  # --- clan-head: inventory.instances --------------------------------------

  # "@clan/x" and "x" from clan-core are clan-core's x: input null, or an input
  # the loader's stubs make clan-core ("clan-core", "clan").
  coreName = inst:
    let
      n = inst.module.name or null;
      input = inst.module.input or null;
      bare = if isString n && builtins.substring 0 6 n == "@clan/" then builtins.substring 6 (builtins.stringLength n) n else n;
    in if elem input [ null "clan-core" "clan" ] && elem bare headServices then bare else null;

  evalHead = instances:
    let
      inv = withMachines ((removeAttrs inventory [ "services" "modules" "imports" ]) // {
        instances = mapAttrs (_: inst: stripModules inst // {
          roles = mapAttrs (_: role: stripModules role // (if role ? machines && isAttrs role.machines then {
            machines = mapAttrs (_: stripModules) role.machines;
          } else { })) (inst.roles or { });
        }) instances;
      });
      services = real.head.allServices inv;
    in mapAttrs (name: inst:
      let
        svc = coreName inst;
        # allServices is keyed by how the module is named (input and name).
        evaluated = head (concatMap (service: if service.instances ? ${name} then [ service.instances.${name} ] else [ ])
          (builtins.attrValues services));
      in {
        module = svc;
        roles = mapAttrs (r: role: {
          members = sort lessThan (attrNames role.machines);
          machines = mapAttrs (m: machine:
            let
              written = deepMerge ((inst.roles.${r} or { }).settings or { })
                (let ms = (inst.roles.${r} or { }).machines or { }; in
                 if isAttrs ms then (ms.${m} or { }).settings or { } else { });
              final = machine.finalSettings.config;
            in listToAttrs (map (leaf: {
              name = dotted leaf.path;
              value = valueAt leaf.value leaf.path final;
            }) (leaves written))) role.machines;
        }) (libHead.filterAttrs (_: role: role.machines != { }) evaluated.roles);
      }) instances;

  # The options each role of a clan-head service declares, from a probe instance.
  declaredByRole = svc: roles:
    let
      probe = (real.head.allServices {
        machines.probe = { };
        instances.probe = {
          module.name = svc;
          roles = listToAttrs (map (r: { name = r; value.machines.probe = { }; }) roles);
        };
      })."<clan-core>-${svc}".instances.probe.roles;
    in mapAttrs (_: role: filter (o: o != "_module") (attrNames role.machines.probe.finalSettings.options)) probe;

  # --- clan-legacy: inventory.services -------------------------------------

  evalLegacy = svc: instName: inst:
    let
      info = table.${svc};
      newName = info.new_name or svc;
      stripped = stripModules inst // {
        roles = mapAttrs (_: stripModules) (inst.roles or { });
        machines = mapAttrs (_: stripModules) (inst.machines or { });
      };
      inv = withMachines ((removeAttrs inventory [ "instances" "modules" "imports" ]) // {
        services.${svc}.${instName} = stripped;
      });
      machines = real.legacy.machines inv;
      # The builder resolves roles per machine; every machine sees the same.
      resolved = if machines == { } then { }
        else machines.${head (attrNames machines)}.compiledServices.${svc}.resolvedRolesPerInstance.${instName};
      roleNames = filter (r: resolved.${r}.machines != [ ]) (attrNames resolved);
      membersOf = r: sort lessThan (unique resolved.${r}.machines);
      rolesOf = m: filter (r: elem m (membersOf r)) roleNames;
      declared = declaredByRole newName roleNames;
      clanOf = m: (real.legacy.machineConfig machines.${m}.machineImports).clan.${svc};
      # Everything written for machine m: the shared namespace of all its roles.
      written = m: mergeAll ([ (inst.config or { }) ((inst.machines.${m} or { }).config or { }) ]
        ++ map (r: (inst.roles.${r} or { }).config or { }) (rolesOf m));
      settingsOf = r: m:
        let
          evaluated = clanOf m;
          own = filter (leaf: !(droppedPath svc leaf.path)) (leaves (written m));
          renamedLeaves = map (leaf: leaf // { key = renamePath svc leaf.path; }) own;
          received = filter (leaf: elem (head leaf.key) declared.${r}) renamedLeaves;
          fromTable = map (leaf: { name = dotted leaf.path; value = normalize leaf.value; }) (leaves (info.set or { }));
        in listToAttrs (map (leaf: {
          name = dotted leaf.key;
          value = valueAt leaf.value leaf.path evaluated;
        }) received ++ fromTable);
    in {
      module = newName;
      roles = listToAttrs (map (r: {
        name = r;
        value = {
          members = membersOf r;
          machines = listToAttrs (map (m: { name = m; value = settingsOf r m; }) (membersOf r));
        };
      }) roleNames);
    };

  # --- which instances are evaluated ---------------------------------------

  # clan-migrate: ignore[CM002] the suite evaluates the legacy format
  legacyInstances = concatMap (svc: map (instName:
    let
      inst = inventory.services.${svc}.${instName};
      info = table.${svc} or { };
      newName = info.new_name or svc;
      skip =
        if (inventory.modules or { }) ? ${svc} || !(elem svc legacyModules) then "not a clan-core module"
        else if !(builtins.pathExists (real.legacy.moduleDir svc + "/roles")) then
          "the legacy ${svc} has no roles/ at the last legacy commit: inventory.services rejects it"
        else if !(elem (info.status or "") [ "migrated" "renamed" ]) then "status ${info.status or "unknown"} in the module table"
        else if !(elem newName headServices) then "no clan.service ${newName}"
        else if !(inst.enabled or true) then "disabled"
        else null;
    in { name = "${svc}-${instName}"; inherit svc instName inst skip; })
    (attrNames inventory.services.${svc})) (attrNames (inventory.services or { }));

  newInstances = map (name:
    let inst = inventory.instances.${name}; in {
      inherit name inst;
      skip = if coreName inst == null then "not a clan-core module" else null;
    }) (attrNames (inventory.instances or { }));

  evaluatedLegacy = listToAttrs (map (i: { inherit (i) name; value = evalLegacy i.svc i.instName i.inst; })
    (filter (i: i.skip == null) legacyInstances));
  evaluatedNew =
    let chosen = filter (i: i.skip == null) newInstances; in
    if chosen == [ ] then { }
    else evalHead (listToAttrs (map (i: { inherit (i) name; value = i.inst; }) chosen));
in
{
  instances = evaluatedLegacy // evaluatedNew;
  skipped = listToAttrs (map (i: { inherit (i) name; value = i.skip; })
    (filter (i: i.skip != null) (legacyInstances ++ newInstances)));
}
