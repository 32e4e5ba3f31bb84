"""focalctl: the Focal compiler and its command-line interface.

The pipeline, in numbered stages (each pure: objects in, objects + diagnostics out):

1. **discover + load** (:mod:`focalctl.bundle.loader`): paths → YAML files → documents, each
   with its composed node tree so any JSON pointer can be turned into file:line:col.
2. **model** (:mod:`focalctl.bundle.models`): documents → typed objects per kind (pydantic v2,
   the spec models defined once in :mod:`runtime.spec`), schema diagnostics located in the file.
3. **check** (:mod:`focalctl.checks`): the bundle's objects → uniqueness, reference, graph,
   tool-safety, channel, template and resolved-settings diagnostics, object by object through
   a :class:`~focalctl.bundle.view.View` that records what each one read. Checks never print.
4. **compile** (:mod:`focalctl.compile`): a valid bundle → one canonical snapshot per tenant
   (the format defined in :mod:`runtime.snapshot`) plus its provenance, assembled from one
   canonical fragment per object.
5. **plan** (:mod:`focalctl.plan`): candidate snapshot vs. the active release → a diff.

**Partial parsing** (:mod:`focalctl.partial`) spans stages 1–4: a file whose bytes did not
change is restored instead of parsed, and an object's checks and fragment are reused while
its file and every fact it read are unchanged (dbt's idea, at the granularity of objects).

Only ``apply`` (:mod:`focalctl.store`, :mod:`focalctl.publish`) touches the world.
"""

__version__ = "0.1.0"
