"""Reads an object it creates itself, with a fixed id and depends_on: how not to wait for an object.

Config ``pattern`` picks the read: ``fixed`` (the id is a plain string; depends_on does not delay
the read in a preview), ``output`` (the id comes from the created object's own id, so the read is
skipped while that id is unknown), ``builtin`` (an object every cluster has before any deployment).
"""

import pulumi
import pulumi_kubernetes as k8s

pattern = pulumi.Config().require("pattern")
provider = k8s.Provider("cluster", kubeconfig="apiVersion: v1\nkind: Config\n")
opts = pulumi.ResourceOptions(provider=provider)
created = k8s.core.v1.ConfigMap(
    "created", metadata=k8s.meta.v1.ObjectMetaArgs(name="demo", namespace="default"), data={"key": "value"}, opts=opts,
)
read_id = {
    "fixed": "default/demo",
    "output": created.id.apply(lambda _: "default/demo"),
    "builtin": "kube-system",
}[pattern]
read_type = k8s.core.v1.Namespace if pattern == "builtin" else k8s.core.v1.ConfigMap
read = read_type.get("read", read_id, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[created])))
pulumi.export("readName", read.metadata.name)
