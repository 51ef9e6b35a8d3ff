"""``UsgGatewayConfig``: this stack's part of the site's config.gateway.json on the controller,
and the USG provisioned with the file composed of every stack's part, in this order (each step
``depends_on`` the one before):

1. ``reprovision-after-restore`` (local): only says what it is for on create; on destroy it runs last,
   after this stack's part is out of the file, and provisions the gateway with what is left.
2. ``original`` (local): ``python -m components.unifi check-original`` on create and update refuses
   when the content would drop a setting of the user's own file (outside what the stack owns);
   its delete (``restore``) takes this stack's part out, and puts the user's original back when
   no other stack's part is left. Its triggers are the host and site directory, with
   delete-before-replace: a new host first loses this stack's part, with the old connection (a
   delete runs with the stored inputs).
3. ``provision`` (local): ``python -m components.unifi provision``, secrets in its environment (the
   stack's file too), the stack's claims on stdin. Under the site's lock on the controller it
   checks the claims against every other stack's, stores the part, composes and installs the
   file, and provisions unless the gateway already has that file (components/unifi/shared_file.py).
   When the program saw the live file drift inside what the stacks own, ``METALLB_UNIFI_REPAIR``
   in its environment makes it run once and put the file back (components/resources/drift.py).
4. ``install`` (remote): reads the live file's sha256 back; its stdin shows this stack's part in
   ``pulumi preview --diff``. No delete: a stack deployed by an older release, whose install
   restored on delete, drops that stored delete by this update instead of running it.

A deployed stack's ``stage`` and ``upload`` (the release before composed nothing) are deleted by
its next ``up``; neither has a delete command (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/
remote/copyController.go has no Delete), so nothing runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.config.model import ControllerAccess, SshAccess
from components.contract import CONTENT_ENV
from components.resources import drift, gateway_commands
from components.resources.drift import NOT_CHECKED, Observation
from components.resources.secret_environment import secret_environment
from components.unifi.scripts import LIVE_NAME


@dataclass(frozen=True)
class UsgGatewayConfigArgs:
    controller: ControllerAccess
    ssh: SshAccess
    stack: str  # names the stack's part on the controller
    content: pulumi.Output[str]  # the stack's whole file; may hold the BGP password (wrapped secret here)
    preview: pulumi.Output[str]  # the same document with secrets redacted, for diffs
    # What the stack owns in the file (components.unifi.kept_settings.owned_paths): its BGP
    # instance and its services' host names; any other setting of the user's original is kept.
    # Known once the cluster's Services are listed (discovered host names are owned too).
    owned: pulumi.Input[Sequence[Sequence[str]]]
    # What the stack holds on the gateway (components.artifacts.stack_claims), checked on the
    # controller against every other stack's part.
    claims: pulumi.Input[Mapping[str, object]]
    # What the program saw on the controller at this preview or up (components/resources/drift.py):
    # a drift to put back makes ``provision`` run once; anything else changes nothing.
    observation: Observation = NOT_CHECKED


class UsgGatewayConfig(pulumi.ComponentResource):
    reprovision_after_restore: command.local.Command
    original: command.local.Command
    provision: command.local.Command
    install: command.remote.Command
    path: str
    sha256: pulumi.Output[str]

    def __init__(self, name: str, args: UsgGatewayConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:gateway:UsgGatewayConfig", name, None, opts)
        controller, ssh, stack = args.controller, args.ssh, args.stack
        gateway_commands.check_site_parameters(controller, ssh, stack)
        self.path = f"{gateway_commands.site_dir(controller, ssh)}/{LIVE_NAME}"
        self.sha256 = args.content.apply(gateway_commands.sha256_hex)
        secret_content: pulumi.Output[str] = pulumi.Output.secret(args.content)

        def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(resources))

        self.reprovision_after_restore = command.local.Command(
            f"{name}-reprovision-after-restore",
            # A create of its own: some pulumi-command releases report a diff on every run for
            # a command without one (pulumi-command#920).
            create="echo 'provisions the gateway on destroy, after the original file is back'",
            delete=gateway_commands.reprovision_command(controller),
            environment=secret_environment(gateway_commands.client_environment(controller)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        original_environment = secret_environment(gateway_commands.ssh_environment(ssh))
        original_environment[CONTENT_ENV] = secret_content
        check = gateway_commands.check_original_command(controller, ssh, stack)
        self.original = command.local.Command(
            f"{name}-original",
            create=check,
            update=check,
            delete=gateway_commands.restore_command(controller, ssh, stack),
            stdin=pulumi.Output.from_input(args.owned).apply(gateway_commands.original_stdin),
            environment=original_environment,
            triggers=gateway_commands.host_identity(controller, ssh),
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions.merge(
                after(self.reprovision_after_restore), pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )
        environment = secret_environment(gateway_commands.provision_environment(controller, ssh))
        # The file itself: the stack's part, composed with the others' on the controller.
        environment[CONTENT_ENV] = secret_content
        repair, ignored = drift.command_options(args.observation)
        environment.update(repair)
        provision = args.content.apply(lambda text: gateway_commands.provision_command(controller, ssh, stack, text))
        self.provision = command.local.Command(
            f"{name}-provision",
            create=provision,
            update=provision,
            stdin=pulumi.Output.from_input(args.claims).apply(gateway_commands.provision_stdin),
            environment=environment,
            opts=pulumi.ResourceOptions.merge(after(self.original), pulumi.ResourceOptions(ignore_changes=ignored)),
        )
        self.install = command.remote.Command(
            f"{name}-install",
            connection=command.remote.ConnectionArgs(
                host=ssh.host,
                port=ssh.port,
                user=ssh.user,
                private_key=pulumi.Output.secret(gateway_commands.secret_value(ssh.private_key)),
                host_key=ssh.host_key,  # checked, never trusted on first use
            ),
            create=gateway_commands.remote_shell(ssh),
            update=gateway_commands.remote_shell(ssh),
            stdin=args.preview.apply(lambda text: gateway_commands.readback_stdin(controller, ssh, text)),
            # Unused; sent by SSH Setenv it would warn on every server without AcceptEnv
            # (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/remote/commandOutputs.go, run).
            add_previous_output_in_env=False,
            opts=after(self.provision),
        )
        self.register_outputs({"path": self.path, "sha256": self.sha256})
