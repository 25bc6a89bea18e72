from django.urls import path

from benchmarks.baselines import views

urlpatterns = [
    path("users-n1/", views.users_n_plus_one),
    path("users-groupby/", views.users_full_group_by),
    path("summaries/", views.summaries_per_user),
    path("stats/", views.stats_full_table),
    path("search/", views.search_ilike),
    path("search-all/", views.search_ilike_all),
    path("tasks/", views.TaskListModelSerializer.as_view()),
    path("tasks-all/", views.AllTasksOffset.as_view()),
]
