EQ_source_owning_party=https://w3id.org/retrace/id/party/91150206000000019W
EXISTS_errorDeclaration=true
