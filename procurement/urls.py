from django.urls import path

from .views import (
    appeals,
    bids,
    contracts,
    entities,
    evaluation,
    open_data,
    opening,
    participation,
    plan_management,
    plans,
    prices,
    process_management,
    processes,
    receipts,
    sme,
    statistics,
)

app_name = "procurement"

urlpatterns = [
    path("entidades/", entities.entity_list, name="entity_list"),
    path("entidades/<ruc:ruc>/", entities.entity_detail, name="entity_detail"),
    path("entidades/<ruc:ruc>/mype/", sme.entity_sme, name="entity_sme"),
    path("mype/", sme.sme_ranking, name="sme_ranking"),
    path("mype/metodologia/", sme.sme_methodology, name="sme_methodology"),
    path("procesos/", processes.process_list, name="process_list"),
    path("procesos/<identifier:identifier>/", processes.process_detail, name="process_detail"),
    path(
        "procesos/<identifier:identifier>/participar/",
        participation.register,
        name="process_register",
    ),
    path("procesos/<identifier:identifier>/consultas/", participation.ask, name="process_ask"),
    path("procesos/<identifier:identifier>/oferta/", bids.bid, name="bid"),
    path("procesos/<identifier:identifier>/oferta/enviar/", bids.bid_submit, name="bid_submit"),
    path(
        "procesos/<identifier:identifier>/oferta/documentos/",
        bids.bid_document_upload,
        name="bid_document_upload",
    ),
    path(
        "procesos/<identifier:identifier>/oferta/documentos/descartar/",
        bids.bid_document_discard,
        name="bid_document_discard",
    ),
    path(
        "procesos/<identifier:identifier>/oferta/retirar/", bids.bid_withdraw, name="bid_withdraw"
    ),
    path(
        "procesos/<identifier:identifier>/oferta/consorcio/",
        bids.bid_consent,
        name="bid_consent",
    ),
    path(
        "procesos/<identifier:identifier>/oferta/consorcio/retirar/",
        bids.bid_consent_withdraw,
        name="bid_consent_withdraw",
    ),
    # The supplier's self-service pages live under /proveedores/mi-cuenta/ (suppliers.urls);
    # this one lists bids, which only procurement knows of.
    path("proveedores/mi-cuenta/ofertas/", bids.my_bids, name="my_bids"),
    path("gestion/procesos/<id:process_id>/ofertas/", bids.process_bids, name="process_bids"),
    path(
        "gestion/procesos/consultas/<id:question_id>/",
        participation.answer,
        name="question_answer",
    ),
    path(
        "gestion/procesos/<id:process_id>/absolucion/",
        participation.publish_answers,
        name="process_publish_answers",
    ),
    path(
        "gestion/procesos/<id:process_id>/bases-integradas/",
        participation.publish_integrated_bases,
        name="process_publish_integrated_bases",
    ),
    path(
        "procesos/<identifier:identifier>/documentos/<id:document_id>/",
        processes.process_document,
        name="process_document",
    ),
    path(
        "procesos/<identifier:identifier>/apertura/",
        opening.process_opening,
        name="process_opening",
    ),
    path(
        "procesos/<identifier:identifier>/apertura/documentos/<id:document_id>/",
        opening.opening_document,
        name="opening_document",
    ),
    path(
        "procesos/<identifier:identifier>/evaluacion/",
        evaluation.process_evaluation,
        name="process_evaluation",
    ),
    path(
        "gestion/procesos/<id:process_id>/evaluacion/",
        evaluation.process_evaluation_manage,
        name="process_evaluation_manage",
    ),
    path(
        "gestion/procesos/<id:process_id>/apertura/",
        opening.process_opening_manage,
        name="process_opening_manage",
    ),
    path(
        "gestion/procesos/<id:process_id>/documentos/",
        process_management.process_document_publish,
        name="process_document_publish",
    ),
    path(
        "procesos/<identifier:identifier>/apelacion/",
        appeals.process_appeal,
        name="process_appeal",
    ),
    path("gestion/apelaciones/", appeals.appeal_list, name="appeal_list"),
    path("gestion/apelaciones/<id:appeal_id>/", appeals.appeal_decide, name="appeal_decide"),
    path("contratos/", contracts.contract_list, name="contract_list"),
    path("contratos/<id:contract_id>/", contracts.contract_detail, name="contract_detail"),
    path(
        "gestion/procesos/<id:process_id>/contratos/",
        contracts.process_contracts,
        name="process_contracts",
    ),
    path("gestion/contratos/<id:contract_id>/", contracts.contract_manage, name="contract_manage"),
    path("recibos/", receipts.receipt_list, name="receipt_list"),
    path("recibos/<str:receipt_hash>/", receipts.receipt_detail, name="receipt_detail"),
    path("precios/<str:code>/", prices.price_history, name="price_history"),
    path("estadisticas/", statistics.statistics_page, name="statistics"),
    path("datos/", open_data.open_data_index, name="open_data"),
    path("datos/diccionario/", open_data.open_data_dictionary, name="open_data_dictionary"),
    path("datos/<str:name>", open_data.open_data_file, name="open_data_file"),
    path("planes/", plans.plan_list, name="plan_list"),
    path("planes/<ruc:ruc>/<year:year>/", plans.plan_detail, name="plan_detail"),
    path("planes/<ruc:ruc>/<year:year>/cambios/", plans.plan_changes, name="plan_changes"),
    path(
        "gestion/procesos/",
        process_management.process_workspace_list,
        name="process_workspace_list",
    ),
    path(
        "gestion/procesos/nuevo/<id:version_id>/",
        process_management.process_create,
        name="process_create",
    ),
    path(
        "gestion/procesos/nuevo/fuera-del-plan/",
        process_management.process_create_outside_plan,
        name="process_create_outside_plan",
    ),
    path(
        "gestion/procesos/<id:process_id>/",
        process_management.process_workspace,
        name="process_workspace",
    ),
    path(
        "gestion/procesos/<id:process_id>/calendario/",
        process_management.process_calendar,
        name="process_calendar",
    ),
    path(
        "gestion/procesos/<id:process_id>/comite/",
        process_management.process_committee,
        name="process_committee",
    ),
    path(
        "gestion/procesos/<id:process_id>/criterios/",
        process_management.process_criteria,
        name="process_criteria",
    ),
    path(
        "gestion/procesos/<id:process_id>/estado/",
        process_management.process_transition,
        name="process_transition",
    ),
    path(
        "gestion/procesos/<id:process_id>/nueva-convocatoria/",
        process_management.process_call_again,
        name="process_call_again",
    ),
    path("gestion/planes/", plan_management.plan_workspace_list, name="plan_workspace_list"),
    path(
        "gestion/planes/plantilla.<str:extension>",
        plan_management.plan_template,
        name="plan_template",
    ),
    path("gestion/planes/<id:version_id>/", plan_management.plan_workspace, name="plan_workspace"),
    path(
        "gestion/planes/<id:version_id>/items/",
        plan_management.plan_item_add,
        name="plan_item_add",
    ),
    path("gestion/planes/<id:version_id>/cargar/", plan_management.plan_upload, name="plan_upload"),
    path(
        "gestion/planes/<id:version_id>/publicar/",
        plan_management.plan_publish,
        name="plan_publish",
    ),
    path(
        "gestion/planes/<id:version_id>/descartar/",
        plan_management.plan_discard_draft,
        name="plan_discard",
    ),
    path(
        "gestion/planes/items/<id:item_id>/", plan_management.plan_item_edit, name="plan_item_edit"
    ),
    path(
        "gestion/planes/items/<id:item_id>/eliminar/",
        plan_management.plan_item_delete,
        name="plan_item_delete",
    ),
    path(
        "gestion/planes/plan/<id:plan_id>/modificar/",
        plan_management.plan_start_modification,
        name="plan_start_modification",
    ),
]
