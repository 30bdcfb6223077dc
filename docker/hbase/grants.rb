# Applied at every start by the entrypoint as the HBase superuser: `hbase shell -n grants.rb` (non-interactive,
# a failing command fails the script). Grants are idempotent.
#   trainer  R W C on namespace sonarlab: reads and writes its three tables (experiments, datasets, predictions)
#            and creates them (`sonarlab hbase init`). Namespace-scoped because the tables do not exist before
#            init; a table-level grant needs an existing table. The creator of a table also becomes its owner.
#   viewer   R on namespace sonarlab.
#   intruder nothing (a 403 for any table).
#   contract global R W X C A: the contract suite creates and drops its own tables and namespaces.
create_namespace 'sonarlab' if list_namespace('sonarlab').to_a.empty?
grant 'trainer', 'RWC', '@sonarlab'
grant 'viewer', 'R', '@sonarlab'
grant 'contract', 'RWXCA'
user_permission '@sonarlab'
exit 0
